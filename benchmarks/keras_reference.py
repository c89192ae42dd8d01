"""The Keras side of benchmarks/keras_forecaster.py; runs in the Keras venv (tensorflow-cpu).

    .venv-keras/bin/python benchmarks/keras_reference.py windows.npz --epochs 100 --threads 2

The classic Keras next-step forecaster, as the tutorials write it:
    Sequential([Input((9, 1)), LSTM(64), Dense(1)]), compile("adam", "mse"),
    fit(X, y, epochs=100, batch_size=32, verbose=0)
on the training windows of windows.npz; prints one JSON line: fit seconds, the last epoch's
training loss, the test MSE and the process's import time.
"""

from __future__ import annotations

import argparse
import json
import os
import time

STARTED = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("windows", help="npz with x_train, y_train, x_test, y_test")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf
    from tensorflow import keras

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    imported = time.perf_counter() - STARTED
    data = np.load(args.windows)
    x, y = data["x_train"], data["y_train"]
    model = keras.Sequential(
        [keras.Input(x.shape[1:]), keras.layers.LSTM(args.hidden), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    started = time.perf_counter()
    history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict(data["x_test"], verbose=0)
    test_mse = float(np.mean((predicted - data["y_test"]) ** 2))
    print(
        json.dumps(
            {
                "side": "keras",
                "fit_seconds": fit_seconds,
                "final_train_mse": float(history.history["loss"][-1]),
                "test_mse": test_mse,
                "import_seconds": imported,
                "params": int(model.count_params()),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
