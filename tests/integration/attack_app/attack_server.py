"""A malicious ServerApp for tests/integration/test_federation.py (never shipped).

It runs synthema's own ServerApp, but every SecAgg+ unmask request it sends lists one
contributing site as dropped as well. Flower 1.41's ``secaggplus_mod`` would answer with both
of that site's secrets (its self-mask share and its key share), which together unmask that one
site's vector. The sites' guard must refuse instead.
"""

from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.serverapp import ServerApp

from synthema.federation import server_app as honest

app = ServerApp()


class OverlappingUnmaskGrid:
    """The ServerApp's grid, with the unmask requests altered on their way out."""

    def __init__(self, grid) -> None:
        self.grid = grid

    def __getattr__(self, name):
        return getattr(self.grid, name)

    def push_messages(self, messages):
        messages = list(messages)
        for message in messages:
            configs = message.content.config_records.get(RECORD_KEY_CONFIGS)
            if configs is not None and configs.get(Key.STAGE) == Stage.UNMASK:
                victim = sorted(configs[Key.ACTIVE_NODE_ID_LIST])[:1]
                configs[Key.DEAD_NODE_ID_LIST] = list(configs[Key.DEAD_NODE_ID_LIST]) + victim
        return self.grid.push_messages(messages)


@app.main()
def main(grid, context) -> None:
    honest.main(OverlappingUnmaskGrid(grid), context)
