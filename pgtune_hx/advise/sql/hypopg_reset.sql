-- Forget every hypothetical index of this backend.
select hypopg_reset()
