"""From recorded nodes to a Graph (models/graph.py), and the functional config both ways.

``map_graph`` follows Keras 3's ``keras/src/ops/function.py:map_graph``: a depth-first walk
from the outputs gives the nodes in an order where every node comes after its inputs, and
the layers ordered by depth (the inputs deepest), ties in the order the walk met them — the
order of ``model.layers``, of ``get_weights`` and of Keras's weight files.
"""

from __future__ import annotations

from typing import Any

from ..layers.base import InputLayer, Layer, deserialize, serialize
from ..layers.symbolic import KerasTensor, Node
from .graph import Graph, Step, mark_backward


def map_graph(inputs: list[KerasTensor], outputs: list[KerasTensor], where: str):
    """(nodes in execution order, layers in Keras's order); ValueError for a disconnected graph."""
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    in_progress: set[int] = set()
    order: list[Node] = []  # post-order: each node after the nodes of its inputs
    layer_index: dict[int, int] = {}
    layer_by_id: dict[int, Any] = {}

    def visit(t: KerasTensor) -> None:
        layer, node_index, _ = t._history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"{where}: the graph has a cycle at layer {layer.name!r}")
        if id(layer) not in layer_index:
            layer_index[id(layer)] = len(layer_index)
            layer_by_id[id(layer)] = layer
        in_progress.add(id(node))
        if not node.is_input and id(t) not in input_ids:
            for x in node.inputs:
                visit(x)
        in_progress.discard(id(node))
        finished.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t)
    for node in order:  # every source reached must be one of the model's inputs
        if node.is_input and id(node.outputs[0]) not in input_ids:
            consumers = [n.layer.name for n in order if any(x is node.outputs[0] for x in n.inputs)]
            raise ValueError(
                f"{where}: graph disconnected: cannot obtain the value of input {node.layer.name!r} "
                f"(shape {node.outputs[0].shape}) needed by layer(s) {consumers}; pass it in `inputs`"
            )
    # Depth: outputs 0, a node's inputs at least one deeper (Keras's nodes_by_depth).
    depth: dict[int, int] = {}
    for node in reversed(order):
        d = depth.setdefault(id(node), 0)
        for x in node.inputs:
            producer = x._history[0]._inbound_nodes[x._history[1]]
            depth[id(producer)] = max(depth.get(id(producer), 0), d + 1)
    layer_depth: dict[int, int] = {}
    for node in order:
        layer_depth[id(node.layer)] = max(layer_depth.get(id(node.layer), 0), depth[id(node)])
    layers = sorted(layer_by_id.values(), key=lambda lay: (-layer_depth[id(lay)], layer_index[id(lay)]))
    names: dict[str, Any] = {}
    for layer in layers:
        if layer.name in names and names[layer.name] is not layer:
            raise ValueError(f"{where}: two layers are named {layer.name!r}; layer names must be unique in a model")
        names[layer.name] = layer
    nodes = [n for n in order if not n.is_input]
    return nodes, layers


def compile_graph(model) -> Graph:
    """The model's Graph on its device: one Step per node; a layer's second and later nodes run replicas."""
    slot: dict[int, int] = {}
    for t in model._input_tensors:
        slot[id(t)] = len(slot)
    steps: list[Step] = []
    seen: dict[int, int] = {}
    cache = model.__dict__.setdefault("_replicas", {})
    for node in model._nodes:
        layer = node.layer
        primary = None
        if id(layer) in seen:
            primary = layer
            layer = _replica(cache, layer, seen[id(layer)], node)
        seen[id(node.layer)] = seen.get(id(node.layer), 0) + 1
        if layer.device != model.device:
            layer.to_device(model.device)
        ins = tuple(slot[id(t)] for t in node.inputs)
        out = slot.setdefault(id(node.outputs[0]), len(slot))
        steps.append(Step(layer, ins, out, node.multi, primary=primary))
    graph = Graph(
        len(slot),
        tuple(slot[id(t)] for t in model._input_tensors),
        tuple(slot[id(t)] for t in model._output_tensors),
        steps,
        masking=any(_makes_mask(s.layer) for s in steps),
    )
    mark_backward(graph)
    return graph


def chain_graph(layers: list, device) -> Graph:
    """A Sequential's Graph: slot i -> layer i -> slot i + 1."""
    steps = []
    for i, layer in enumerate(layers):
        if layer.device != device:
            layer.to_device(device)
        steps.append(Step(layer, (i,), i + 1, False))
    graph = Graph(len(layers) + 1, (0,), (len(layers),), steps, masking=any(_makes_mask(x) for x in layers))
    mark_backward(graph)
    return graph


def _makes_mask(layer) -> bool:
    if not isinstance(layer, Layer):  # a nested model: its own graph says
        return layer._graph().masking
    return type(layer).compute_mask is not Layer.compute_mask


def _replica(cache: dict, layer, k: int, node: Node):
    """A copy of ``layer`` for its k-th call: same class and config, the same weight value
    arrays, its own buffers and gradients; kept while the weights keep their arrays."""
    key = (id(layer), k)
    values = tuple(id(w.value) for w in layer.weights)
    hit = cache.get(key)
    if hit is not None and hit[0] == values and hit[1].trainable == layer.trainable:
        return hit[1]
    rep = deserialize(serialize(layer))  # a layer, or a model used as a layer (rebuilt from its graph config)
    rep.to_device(layer.device)
    if isinstance(rep, Layer):
        shapes = [t.shape[1:] for t in node.inputs]
        rep.ensure_built(shapes if node.multi else shapes[0])
    for rw, pw in zip(rep.weights, layer.weights):
        rw.value = pw.value
        rw.regularizer = None  # the penalty and its gradient count once, on the shared layer
    rep.trainable = layer.trainable
    cache[key] = (values, rep)
    return rep


# ---------------------------------------------------------------------------- config (Keras 3 format)
def _history_ref(t: KerasTensor, node_pos: dict) -> list:
    layer, node_index, tensor_index = t._history
    return [layer.name, node_pos.get((id(layer), node_index), node_index), tensor_index]


def _tensor_arg(t: KerasTensor, node_pos: dict) -> dict:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": list(t.shape), "dtype": "float32", "keras_history": _history_ref(t, node_pos)},
    }


def functional_config(model) -> dict:
    """Keras 3's Functional.get_config: layers with inbound_nodes, input_layers, output_layers."""
    node_ids = {id(n) for n in model._nodes}
    node_pos: dict = {}  # (layer, node index) -> its index among the nodes of this model
    for layer in model.layers:
        own = [n for n in layer._inbound_nodes if id(n) in node_ids or n.is_input]
        for i, n in enumerate(own):
            node_pos[(id(layer), n.index)] = i
    entries = []
    for layer in model.layers:
        entry = serialize(layer)
        entry = {"module": _module_of(layer), "class_name": entry["class_name"], "config": entry["config"]}
        entry["name"] = layer.name
        nodes = [n for n in layer._inbound_nodes if id(n) in node_ids]
        entry["inbound_nodes"] = [
            {
                "args": [[_tensor_arg(t, node_pos) for t in n.inputs]]
                if n.multi
                else [_tensor_arg(n.inputs[0], node_pos)],
                "kwargs": {},
            }
            for n in nodes
        ]
        entries.append(entry)

    def refs(tensors, struct, names):
        items = [_history_ref(t, node_pos) for t in tensors]
        if struct == "dict":
            return dict(zip(names, items))
        return items[0] if struct == "single" else items

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": entries,
        "input_layers": refs(model._input_tensors, model._inputs_struct, model.input_names),
        "output_layers": refs(model._output_tensors, model._outputs_struct, model.output_names),
    }


def _module_of(layer) -> str:
    return "sinapse.models" if not isinstance(layer, Layer) else "sinapse.layers"


def graph_from_config(config: dict, where: str):
    """(inputs, outputs, name) rebuilt by calling fresh layers on symbolic tensors in config order."""
    if not isinstance(config, dict) or "layers" not in config:
        raise TypeError(f"{where}: `config` must be a dict such as Model.get_config() returns, got {config!r}"[:300])
    created: dict[str, Any] = {}
    pending: list = []
    for entry in config["layers"]:
        if not isinstance(entry, dict) or "class_name" not in entry:
            raise ValueError(f"{where}: each layer entry must hold class_name and config, got {entry!r}"[:300])
        name = entry.get("name") or entry.get("config", {}).get("name")
        layer = deserialize({"class_name": entry["class_name"], "config": entry.get("config", {})})  # models too
        created[name] = layer
        pending.extend((name, k, node) for k, node in enumerate(entry.get("inbound_nodes", [])))
    # Replay the calls: a node can run once the nodes it reads have run (Keras's process_node loop).
    outputs_of: dict[tuple, KerasTensor] = {}
    for name, layer in created.items():
        if isinstance(layer, InputLayer):
            outputs_of[(name, 0, 0)] = layer.output
    calls = {n: 0 for n in created}
    progress = True
    while pending and progress:
        progress, rest = False, []
        for name, k, node in pending:
            refs = [_ref(a) for a in _node_args(node)]
            if calls[name] == k and all(r in outputs_of for r in refs):  # a layer's calls in their order
                tensors = [outputs_of[r] for r in refs]
                multi = isinstance(node, dict) and len(node.get("args", [])) == 1 and isinstance(node["args"][0], list)
                outputs_of[(name, k, 0)] = created[name](tensors if multi or len(tensors) > 1 else tensors[0])
                calls[name] += 1
                progress = True
            else:
                rest.append((name, k, node))
        pending = rest
    if pending:
        raise ValueError(
            f"{where}: the config's graph cannot be rebuilt: layer {pending[0][0]!r} reads missing tensors"
        )

    def resolve(spec):
        if isinstance(spec, dict):
            return {k: resolve(v) for k, v in spec.items()}
        if spec and isinstance(spec[0], list):
            return [resolve(s) for s in spec]
        key = (spec[0], int(spec[1]), int(spec[2]))
        if key not in outputs_of:
            raise ValueError(f"{where}: the config names tensor {spec}, which no layer produces")
        return outputs_of[key]

    return resolve(config["input_layers"]), resolve(config["output_layers"]), config.get("name")


def _node_args(node) -> list:
    """The __keras_tensor__ dicts a config node reads (Keras 3: {"args": [...], "kwargs": {}};
    Keras 2: [[name, node, tensor, kwargs], ...])."""
    if isinstance(node, dict):
        args = node.get("args", [])
        if len(args) == 1 and isinstance(args[0], list):
            return args[0]
        return args
    return [{"config": {"keras_history": list(a[:3])}} for a in node]


def _ref(arg) -> tuple:
    h = arg["config"]["keras_history"]
    return (h[0], int(h[1]), int(h[2]))
