"""Sharding a sweep over processes."""

from __future__ import annotations

import pytest

from ttvos.errors import UserError
from ttvos.sharding import Shard, detect_shard, local_device, parse_shard


def test_explicit_shard_wins():
    env = {"RANK": "3", "WORLD_SIZE": "4"}
    assert detect_shard("1/2", env) == Shard(1, 2, "--shard")


def test_torchrun_environment():
    shard = detect_shard(None, {"RANK": "2", "WORLD_SIZE": "4", "LOCAL_RANK": "0"})
    assert (shard.index, shard.count, shard.origin) == (2, 4, "torchrun")


def test_slurm_array_counts_from_its_first_id():
    env = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "3"}
    assert (detect_shard(None, env).index, detect_shard(None, env).count) == (2, 4)
    assert detect_shard(None, {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}).index == 0


def test_default_single_process():
    assert detect_shard(None, {}) == Shard()


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/3"])
def test_bad_shard(text):
    with pytest.raises(UserError, match="--shard"):
        parse_shard(text)


def test_shards_partition_positions():
    owners = [[p for p in range(10) if Shard(i, 3).owns(p)] for i in range(3)]
    assert sorted(sum(owners, [])) == list(range(10))
    assert owners[0] == [0, 3, 6, 9]


def test_local_device_only_changes_cuda_requests_under_torchrun():
    assert local_device("cpu", {"LOCAL_RANK": "1"}) == "cpu"
    assert local_device("auto", {}) == "auto"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"RANK": "3", "WORLD_SIZE": "2"}, "RANK=3 WORLD_SIZE=2: no shard of 2 matches this torchrun task"),
        ({"RANK": "0", "WORLD_SIZE": "0"}, "RANK=0 WORLD_SIZE=0: no shard of 0"),
        ({"RANK": "one", "WORLD_SIZE": "2"}, "RANK=one WORLD_SIZE=2: expected integers"),
        ({"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "4"}, "SLURM_ARRAY_TASK_ID=7"),
        (
            {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "3"},
            "no shard of 4",
        ),
    ],
)
def test_impossible_shard_from_the_environment_is_an_error(env, fragment):
    with pytest.raises(UserError, match="--shard I/N") as info:
        detect_shard(None, env)
    assert fragment in str(info.value)


def test_slurm_array_with_a_step():
    env = {"SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"}
    assert [detect_shard(None, {**env, "SLURM_ARRAY_TASK_ID": str(i)}).index for i in (0, 2, 4)] == [0, 1, 2]
    with pytest.raises(UserError):
        detect_shard(None, {**env, "SLURM_ARRAY_TASK_ID": "3"})
