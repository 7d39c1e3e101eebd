"""Registrations of the SuSana plugin (arXiv 2305.09062): registrations only, no heavy imports."""

from latentzoo import hookimpl

_P = "latentzoo_susana"

# A tiny episodic training stage the examples share (steps <= 3).
_DATA = {"name": "susana.digits_fewshot"}
_MODEL = {"name": "susana.protonet", "channels": 16}
_SAMPLER = {"name": "susana.episodic", "way": 5, "shot": 1, "query": 5}
_QUICK = {"episodes": 600, "query": 5}


def _train(loss, metrics=(), name="train", sampler=_SAMPLER) -> dict:
    return {"kind": "train", "name": name, "data": _DATA, "model": _MODEL, "sampler": sampler,
            "loss": loss, "metrics": list(metrics), "steps": 3, "batch_size": 4}


def _example(loss="susana.combined", metrics=(), sampler=_SAMPLER) -> dict:
    return {"stages": [_train(loss, metrics, sampler=sampler)]}


@hookimpl
def latentzoo_register_data(register):
    register("digits_fewshot", f"{_P}.data:fewshot_digits", config=f"{_P}.data:FewShotDataConfig",
             doc="digits (or mnist1d) split into base classes 0-4 (train/val) and novel 5-9 (test)",
             example=_example("susana.proto_ce"))


@hookimpl
def latentzoo_register_models(register):
    register("protonet", f"{_P}.models:protonet", config=f"{_P}.models:ProtoNetConfig",
             doc="ProtoNet conv encoder (conv3x3-BN-ReLU-maxpool blocks) -> embedding",
             example=_example("susana.proto_ce"))


@hookimpl
def latentzoo_register_samplers(register):
    register("episodic", f"{_P}.episodes:EpisodicSampler", config=f"{_P}.episodes:EpisodicConfig",
             doc="N-way K-shot episodes with queries, class-major, from the global torch RNG",
             example=_example("susana.proto_ce",
                              sampler={"name": "susana.episodic", "way": 3, "shot": 2, "query": 4}))


@hookimpl
def latentzoo_register_losses(register):
    register("combined", f"{_P}.losses:combined", config=f"{_P}.losses:CombinedConfig",
             doc="SuSana loss: sum of CE / Proto-Triplet / ICNN terms over their number (default CE+PT+ICNN)",
             example=_example("susana.combined"))
    register("proto_ce", f"{_P}.losses:proto_ce", config=f"{_P}.losses:ProtoCEConfig",
             doc="ProtoNet cross-entropy of -||f_q - c_k||^2 / T (baseline)",
             example=_example("susana.proto_ce"))
    register("proto_triplet", f"{_P}.losses:proto_triplet", config=f"{_P}.losses:ProtoTripletConfig",
             doc="Proto-Triplet: max(0, d(q, c_y) - min_{k!=y} d(q, c_k) + m)",
             example=_example("susana.proto_triplet"))
    register("icnn", f"{_P}.losses:icnn", config=f"{_P}.losses:ICNNConfig",
             doc="ICNN loss -log score (full / supp / query variants)",
             example=_example({"name": "susana.icnn", "variant": "full"}))


@hookimpl
def latentzoo_register_metrics(register):
    register("fewshot_acc", f"{_P}.metrics:fewshot_acc", config=f"{_P}.metrics:FewShotAccConfig",
             doc="few-shot accuracy (%) ± 95% CI over fixed-seed test episodes, figure by way/shot",
             example=_example(metrics=[{"name": "susana.fewshot_acc", **_QUICK}]))
    register("icnn_score", f"{_P}.metrics:icnn_score_metric", config=f"{_P}.metrics:ICNNScoreConfig",
             doc="mean ICNN score of test-episode embeddings",
             example=_example(metrics=[{"name": "susana.icnn_score", **_QUICK}]))
    register("icnn_score_v0", f"{_P}.metrics:icnn_score_v0_metric",
             config=f"{_P}.metrics:ICNNScoreV0Config",
             doc="the original ICNN score (exponents p, q, r; omega off) of test episodes",
             example=_example(metrics=[{"name": "susana.icnn_score_v0", **_QUICK}]))
    register("proto_spread", f"{_P}.metrics:proto_spread", config=f"{_P}.metrics:SpreadConfig",
             doc="mean d(q, own prototype) / mean d(q, nearest other prototype) on test episodes",
             example=_example(metrics=[{"name": "susana.proto_spread", **_QUICK}]))
    register("paired_fewshot_acc", f"{_P}.metrics:paired_fewshot_acc",
             config=f"{_P}.metrics:PairedConfig",
             doc="per-episode accuracy difference vs a baseline model on the same episodes, ± 95% CI",
             example={"stages": [
                 _train("susana.proto_ce", name="protonet"),
                 _train("susana.combined", name="susana"),
                 {"kind": "evaluate", "name": "eval", "model": "susana", "models": ["protonet"],
                  "data": _DATA, "metrics": [{"name": "susana.paired_fewshot_acc",
                                              "baseline": "protonet", **_QUICK}]},
             ]})
