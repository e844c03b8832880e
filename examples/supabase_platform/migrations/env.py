from rlskit.runtime import run_env

run_env()
