"""Paper and web output of a result set: per-set tables (:mod:`~schedbench.publish.tables`) and the
static results site (:mod:`~schedbench.publish.site`)."""
