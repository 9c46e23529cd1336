"""pullguard: audit Kubernetes image pull credentials the way the kubelet uses them."""

__version__ = "0.1.0"
