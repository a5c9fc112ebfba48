from pgtune_hx.cli.main import run

run()
