"""Fleet deploys: one command for many databases or schemas.

``targets`` (the fleet file, pure), ``resolve`` (query and schema sources),
``jobs`` (what runs on one target), ``run`` (parallelism, canaries, failure
budget), ``state`` (resume), ``cli`` (the click layer).
"""
