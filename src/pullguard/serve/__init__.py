"""`pullguard serve`: the scan of a live cluster, kept current, in the cluster.

informer (list+watch per kind) -> store (compact objects, dirty namespaces) ->
judge (the same analysis as `scan --cluster`, re-run only for namespaces that
changed) -> metrics (/metrics), PolicyReports, and the admission webhook, which
answers from the judged inventory without an API call per request.
"""
