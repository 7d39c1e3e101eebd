#!/usr/bin/env bash
# The prepared GPU check (a machine with a CUDA GPU; under 8 minutes). Run from the repository
# root after installing (pip install torch && pip install -e 'core[full]'):
#   bash benchmarks/gpu_check.sh 2>&1 | tee gpu_check.log
# 1. the quickstart on the GPU, 2. the same in bf16 mixed precision, 3. the loop's throughput
# against a raw PyTorch loop at a batch size that keeps the GPU busy, 4. two GPUs if present.
set -euo pipefail
export LATENTZOO_NO_PROGRESS=1 LATENTZOO_RUNS_DIR=${LATENTZOO_RUNS_DIR:-/tmp/latentzoo-gpu-check}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
echo "== 1. quickstart on the GPU"
time latentzoo run configs/quickstart.toml
echo "== 2. quickstart in bf16"
time latentzoo run configs/quickstart.toml 'stages[0].mixed_precision="bf16"'
echo "== 3. loop overhead vs raw PyTorch (GPU, batch 4096, fp32 and bf16)"
python benchmarks/loop_overhead.py --device cuda --batch-size 4096 --steps 2000 --base-steps 200 --repeats 3
python benchmarks/loop_overhead.py --device cuda --batch-size 4096 --steps 2000 --base-steps 200 --repeats 3 --mixed-precision bf16
gpus=$(python -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" -ge 2 ]; then
  echo "== 4. two GPUs (DDP via accelerate launch)"
  time accelerate launch --multi_gpu --num_processes 2 -m latentzoo.cli run configs/quickstart.toml
fi
echo "== done"
