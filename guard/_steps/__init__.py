"""The guard's steps, one object per job, behind one protocol (``base.Step``). ``Guard`` (in ``_guard``)
is the ordered tuple of the steps a policy enables; ``_flow`` runs them for every request."""
