"""AdmissionReviews shaped like the API server's (admission.k8s.io/v1; Kubernetes docs "Dynamic
Admission Control": request and response), a client that checks the webhook's certificate as the
API server does."""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from pathlib import Path
from typing import Any

KINDS = {"Pod": ("", "v1", "pods"), "Deployment": ("apps", "v1", "deployments")}


def review(kind: str, obj: dict[str, Any], namespace: str, operation: str = "CREATE") -> dict[str, Any]:
    group, version, resource = KINDS[kind]
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": obj["metadata"].get("name", ""),
            "namespace": namespace,
            "operation": operation,
            "userInfo": {
                "username": "kubernetes-admin",
                "groups": ["system:masters", "system:authenticated"],
            },
            "object": {"apiVersion": "/".join(filter(None, (group, version))), "kind": kind, **obj},
            "oldObject": None,
            "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }


class Client:
    """A keep-alive HTTPS client that verifies the webhook's certificate, as the API server does."""

    def __init__(self, port: int, ca: Path) -> None:
        self.context = ssl.create_default_context(cafile=str(ca))
        self.connection = http.client.HTTPSConnection("127.0.0.1", port, context=self.context, timeout=10)

    def send(self, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = json.dumps(document)
        self.connection.request("POST", "/validate?timeout=5s", body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
