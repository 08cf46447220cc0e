#!/bin/sh
# `make demo`: train a 784-256-128-10 ReLU MLP with Adam on Fashion-MNIST for
# 5 epochs (lr 1e-3, batch 128), evaluate it on the 10,000 test images, and
# say where the model, the metrics, the plots and the test accuracy are; then
# export it as int8 C (cgrad export --int8 --check) and say how often its top
# class is the float model's.
# Fails if the test accuracy is below 0.87 (PyTorch reaches about 0.875 with
# the same network and settings).
#
#   BUILD          the build folder holding cgrad (default build)
#   DEMO_DATA      the IDX folder (default /usr/share/datasets/fashion-mnist,
#                  from the Debian package dataset-fashion-mnist)
#   DEMO_OUT       where the results go (default $BUILD/demo)
#   DEMO_THREADS   --threads (default 2: the demo is meant for 2 cores)
set -eu

BUILD=${BUILD:-build}
DATA=${DEMO_DATA:-/usr/share/datasets/fashion-mnist}
OUT=${DEMO_OUT:-$BUILD/demo}
THREADS=${DEMO_THREADS:-2}
CGRAD=$BUILD/cgrad

if [ ! -x "$CGRAD" ]; then
    echo "demo: $CGRAD is missing: run make first" >&2
    exit 1
fi
if [ ! -d "$DATA" ]; then
    echo "demo: $DATA is missing: scripts/deps.sh demo installs dataset-fashion-mnist" >&2
    exit 1
fi
mkdir -p "$OUT"

now() { date +%s.%N; }
start=$(now)
echo "cgrad train $DATA: 784-256-128-10 ReLU MLP, Adam lr 1e-3, batch 128, 5 epochs"
"$CGRAD" train "$DATA" --hidden 256,128 --act relu --optim adam --lr 1e-3 \
    --batch 128 --epochs 5 --seed 1 --threads "$THREADS" \
    --out "$OUT/fashion-mnist.safetensors" --checkpoint "$OUT/checkpoint.safetensors" \
    --metrics "$OUT/metrics.csv" --plot "$OUT/curves.png" --quiet >"$OUT/train.txt"
trained=$(now)
echo "cgrad eval on the 10,000 test images"
"$CGRAD" eval "$OUT/fashion-mnist.safetensors" "$DATA" --threads "$THREADS" \
    --confusion "$OUT/confusion.png" >"$OUT/eval.txt"
end=$(now)
echo "cgrad export --int8, checked against the float model on the test images"
"$CGRAD" export "$OUT/fashion-mnist.safetensors" -o "$OUT/fashion_mnist.c" \
    --header "$OUT/fashion_mnist.h" --int8 --check "$DATA" >"$OUT/export.txt"

accuracy=$(tail -n 1 "$OUT/eval.txt" | sed -n 's/^accuracy //p')
cat <<END

model:            $OUT/fashion-mnist.safetensors  (cgrad info, cgrad predict)
checkpoint:       $OUT/checkpoint.safetensors
metrics:          $OUT/metrics.csv
curves:           $OUT/curves.png
confusion matrix: $OUT/confusion.png
evaluation:       $OUT/eval.txt
as C (int8):      $OUT/fashion_mnist.c, .h (docs/EXPORT.md)
END
awk -v s="$start" -v t="$trained" -v e="$end" \
    'BEGIN { printf "time:             %.1f s (training %.1f s, evaluation %.1f s)\n", e - s, t - s, e - t }'
echo "test accuracy:    $accuracy"
sed -n 's/^check on .*): top class equal to the float model.s on \([0-9.]*%\).*/int8 export:      top class equal to the float model'"'"'s on \1 of the test images/p' \
    "$OUT/export.txt"
if awk -v a="$accuracy" 'BEGIN { exit !(a + 0 >= 0.87) }'; then
    exit 0
fi
echo "demo: test accuracy $accuracy is below 0.87" >&2
exit 1
