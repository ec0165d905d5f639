"""The application layer: one module per use case, between the parts below and the two front doors above.

`batch` (run a batch, queue one), `eval`, `tournament`, `evidence` (bibliographies, audits, what the judges read),
`pages` (import, attach, the web app to serve), `queue` (a worker), `status` (of batches and the queue),
`agreement` and `show`. Each takes a `Workspace` (settings, store, client, prompts: opened once, closed once) and
its `options` (`DebateOptions`, the command's overrides of config.yaml); `status.queue_status`, a one-shot read,
takes the settings and a URL and opens its own. The CLI (hypodebate/cli.py, hypodebate/commands/) and the
Python API (hypodebate/api.py) only read arguments, call these and present what they return.

Nothing heavy is imported here: the CLI imports a use case only in the command that runs it.
"""
