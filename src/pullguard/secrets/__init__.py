"""`pullguard secret`: create, attach, rotate and refresh image pull secrets safely.

One module per job:

- ``sources``: where a new credential comes from (standard input, a file, an
  environment variable, a ``docker-credential-*`` helper), never the command line;
- ``payload``: the ``kubernetes.io/dockerconfigjson`` Secret, its annotations, and
  the masked description of a change;
- ``kube``: writes to the Kubernetes API with optimistic concurrency and dry runs;
- ``check``: a credential asked of its registries before anything is written;
- ``create``, ``attach``, ``rotate``, ``refresh``: the commands' work;
- ``cli``: the ``secret`` command group.

Nothing here writes a credential anywhere but into the Secret (and, with
``-o yaml``, the standard output the user asked for).
"""
