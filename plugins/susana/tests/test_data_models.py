"""Base/novel digit split and the ProtoNet encoder."""

import pytest
import torch
from latentzoo.build import BuildContext
from latentzoo.config import DataSpec, ModelSpec
from latentzoo.errors import UserError
from latentzoo_susana.data import FewShotDataConfig, fewshot_digits
from latentzoo_susana.models import ProtoNet, ProtoNetConfig, protonet


def test_base_and_novel_classes_are_disjoint_and_val_is_a_20_percent_holdout():
    data = fewshot_digits(FewShotDataConfig())
    train, val, test = (data.split(s) for s in ("train", "val", "test"))
    assert set(train["y"].tolist()) == {0, 1, 2, 3, 4} == set(val["y"].tolist())
    assert set(test["y"].tolist()) == {5, 6, 7, 8, 9}
    assert train["x"].shape[1:] == (1, 8, 8) and 0 <= train["x"].min() and train["x"].max() <= 1
    for label in range(5):
        n_train, n_val = (train["y"] == label).sum().item(), (val["y"] == label).sum().item()
        assert n_val == round(0.2 * (n_train + n_val))
    # sklearn digits: 1797 images, 901 of classes 0-4
    assert len(train["y"]) + len(val["y"]) == 901 and len(test["y"]) == 1797 - 901


def test_overlapping_classes_are_rejected_with_the_config_path():
    with pytest.raises(UserError, match="disjoint"):
        DataSpec.of("susana.digits_fewshot", base_classes=[0, 1, 2], novel_classes=[2, 3])
    with pytest.raises(UserError, match="9"):
        DataSpec.of("susana.digits_fewshot", novel_classes=[5, 10])


def test_protonet_embedding_sizes():
    x = torch.zeros(3, 1, 8, 8)
    assert ProtoNet((1, 8, 8))(x).shape == (3, 256)  # 64 channels x 2 x 2
    assert ProtoNet((1, 8, 8), pool="avg")(x).shape == (3, 64)
    assert ProtoNet((1, 40), channels=8, blocks=3)(torch.zeros(2, 1, 40)).shape == (2, 8 * 5)


def test_protonet_rejects_too_many_blocks_and_flat_inputs():
    with pytest.raises(ValueError, match="blocks = 4"):
        ProtoNet((1, 8, 8), blocks=4)
    with pytest.raises(ValueError, match="shape"):
        protonet(ProtoNetConfig(), BuildContext(data=fewshot_digits(FewShotDataConfig()).info.__class__((64,))))
    with pytest.raises(UserError, match="channels"):
        ModelSpec.of("susana.protonet", channels=0)


def test_file_source_loads_pre_split_tensors_and_says_how_to_prepare_a_missing_file(tmp_path):
    from latentzoo.errors import MissingDataError

    with pytest.raises(MissingDataError, match="torch.save"):
        fewshot_digits(FewShotDataConfig(source="file", path=str(tmp_path / "absent.pt")))
    path = tmp_path / "bench.pt"
    torch.save({"train": {"x": torch.zeros(6, 3, 4, 4), "y": torch.tensor([0, 0, 1, 1, 2, 2])},
                "test": {"x": torch.ones(4, 3, 4, 4), "y": torch.tensor([3, 3, 4, 4])}}, path)
    data = fewshot_digits(FewShotDataConfig(source="file", path=str(path)))
    assert data.info.input_shape == (3, 4, 4) and data.info.num_classes == 3
    assert data.split("test")["y"].tolist() == [3, 3, 4, 4]
