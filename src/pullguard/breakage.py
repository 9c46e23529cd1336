"""The second axis of every finding: does it break a pull?

Severity rates the security risk; a CI gate also needs to know whether the pod will
sit in ErrImagePull / ImagePullBackOff. A finding breaks a pull when the kubelet,
following https://kubernetes.io/docs/concepts/containers/images/#specifying-imagepullsecrets-on-a-pod,
ends up with no usable credential for a private image of a pod it concerns:

- PG001 always (the private image is pulled anonymously, and the registry refuses it);
- PG002, PG003, PG004 when a pod they concern is left with no usable credential for
  one of its non-public images, or holds a pull secret that cannot be decoded (then
  the kubelet fails every pull of the pod, public images included);
- no other check: they rate exposure and hygiene, not whether the pull works.

The default gate (`scan`) fails on any finding that breaks a pull, whatever its severity.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from pullguard.checks import Finding
from pullguard.inventory.resolve import Coverage, ImageJudgement, PodCredentials, Resolution, SecretsFrom
from pullguard.semantics.registries import Visibility

ALWAYS = frozenset({"PG001"})
WHEN_A_POD_IS_LEFT_WITHOUT = frozenset({"PG002", "PG003", "PG004"})


def will_not_pull(judgement: ImageJudgement) -> bool:
    """The kubelet will fail this image's pull: a broken keyring, a private image with no credential,
    or an image of unknown visibility whose pod template lists its own pull secrets, none of which applies
    (the template's author meant it to need one)."""
    if judgement.use.ref is None:
        return False
    if judgement.coverage is Coverage.BROKEN:
        return True
    if judgement.coverage is not Coverage.NONE:
        return False
    if judgement.visibility is Visibility.PRIVATE:
        return True
    return judgement.visibility is Visibility.UNKNOWN and judgement.pod.secrets_from is SecretsFrom.POD


def pod_cannot_pull(resolution: Resolution, pod: PodCredentials) -> bool:
    """Some image of the pod will not pull."""
    return any(will_not_pull(j) for j in resolution.images_of(pod))


def concerned_pods(resolution: Resolution, finding: Finding) -> Iterator[PodCredentials]:
    """The pods a PG002-PG004 finding is about: by owner, by ServiceAccount, or by the secret they list."""
    yield from resolution.pod_index.about(finding.object)


def breaks_pull(finding: Finding, resolution: Resolution) -> bool:
    if finding.check_id in ALWAYS:
        return True
    if finding.check_id in WHEN_A_POD_IS_LEFT_WITHOUT:
        return any(pod_cannot_pull(resolution, pod) for pod in concerned_pods(resolution, finding))
    return False


def mark(findings: Iterable[Finding], resolution: Resolution) -> list[Finding]:
    """Stamp `breaks_pull` on every finding (a finding that already says so is kept as it is:
    most do not break a pull, and a copy per finding costs more than the judgement)."""
    marked: list[Finding] = []
    for finding in findings:
        breaks = breaks_pull(finding, resolution)
        marked.append(finding if finding.breaks_pull is breaks else replace(finding, breaks_pull=breaks))
    return marked
