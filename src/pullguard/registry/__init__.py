"""Asking registries: can these credentials pull this image? (Docker Registry HTTP API v2.)

- ``outcome``: the outcome classes, each with a plain-language cause and fix.
- ``credentials``: logins and tokens (values never shown), docker config.json and
  credential helpers, ``--username`` / ``--password-stdin``.
- ``client``: HTTP, the auth challenge, the token flow and its cache, the manifest HEAD.
- ``verify``: the kubelet's order of credentials per image, over a scan's resolution.
"""
