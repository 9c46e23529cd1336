"""`pullguard fix PATH`: apply the remediations a file can carry, like `ruff --fix`.

- ``rtyaml``: documents of a file split as kubectl splits them, edited with a
  round-trip YAML library (comments, key order, quoting and the other documents'
  text are kept byte for byte);
- ``textfile``: a file's text and encoding (UTF-8, UTF-16/32 with a byte-order
  mark), written back in that encoding;
- ``plan``: which finding becomes which edit;
- ``cli``: the command (a unified diff by default, ``--write`` to write).
"""
