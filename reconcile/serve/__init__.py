"""`reconcile serve`: a read-only HTTP view of the mirror (health, metrics, a status page)."""
