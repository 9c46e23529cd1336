#!/bin/sh
# Bootstrap script committed next to the manifests. The literal password below
# (a fake example value) is committed in plaintext: PG010 reports the line,
# never the value. The second command reads it from the environment: fine.
kubectl create secret docker-registry mirror-creds --namespace ops \
  --docker-server=registry.example.com:5000 --docker-username=ops-puller \
  --docker-password='example-password-5'
kubectl create secret docker-registry registry-creds --namespace platform \
  --docker-server=registry.example.com --docker-username=shop-puller \
  --docker-password="$REGISTRY_PASSWORD"
