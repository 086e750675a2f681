pytest_plugins = ["servicekit.pytest_plugin", "prestaflow_fixtures"]
