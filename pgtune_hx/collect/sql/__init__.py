"""SQL of the collectors, one file per collector and minimum server version.

``<name>_<version>.sql`` serves servers from ``version`` (server_version_num)
up to the next file's version; each file opens with a comment saying what
changed. ``pgtune_hx.collect.versions.pick`` chooses.
"""
