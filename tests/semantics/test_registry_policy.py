"""RegistryPolicy.classify answers each image once and the same for each of its uses."""

from __future__ import annotations

from pullguard.semantics.imageref import ImageRef
from pullguard.semantics.registries import RegistryPolicy, Visibility

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_a_repeated_image_is_classified_the_same() -> None:
    policy = RegistryPolicy()
    ref = ImageRef(ECR, "team/app", "1", None)
    first = policy.classify(ref)
    assert first.visibility is Visibility.PRIVATE
    assert policy.classify(ImageRef(ECR, "team/app", "2", None)) == first


def test_the_same_name_with_and_without_a_domain_is_classified_apart() -> None:
    """`repository` reads the same for both; only the one with a domain is an ECR registry."""
    policy = RegistryPolicy()
    with_domain = ImageRef(ECR, "app", None, None)
    without = ImageRef("", f"{ECR}/app", None, None)
    assert with_domain.repository == without.repository
    assert policy.classify(with_domain).visibility is Visibility.PRIVATE
    assert policy.classify(without) == RegistryPolicy().classify(without)
    assert policy.classify(without).visibility is not Visibility.PRIVATE
