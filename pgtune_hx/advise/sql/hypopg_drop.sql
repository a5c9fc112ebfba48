-- Forget one hypothetical index.
select hypopg_drop_index(%(handle)s)
