"""Figures and interactive explorers: how an AAGCN sees a skeleton.

* :mod:`.skeleton` -- draw poses and sequences (2D/3D, matplotlib/plotly), joints coloured by a
  value, graphs drawn as edges;
* :mod:`.graphs` -- the partition, learned and data-dependent graphs as heatmaps, ``alpha`` and
  how far training moved each layer's graph;
* :mod:`.attention` -- spatial, temporal and channel attention of one sample;
* :mod:`.training` -- training curves, confusion matrices, per-class accuracy, accuracies with
  intervals and the fusion table (:func:`plot_fusion`);
* :mod:`.widgets` -- ipywidgets explorers (ipywidgets is imported only when one is built).

The numbers these figures draw (learned graphs, drift, one sample's attention, per-class means,
intervals) come from :mod:`aagcn_lab.analysis`, which needs no plotting library; ``_common``
holds the pieces the modules here share.

Graph heatmaps have the **source joint on the rows and the target joint on the columns**: the
package multiplies features from the right, ``out[w] = sum_v x[v] * A[v, w]``.

Static figures are matplotlib (they render on GitHub); interactive ones are plotly.
"""

from .ablation import plot_ablation
from .attention import (
    plot_attention_summary,
    plot_channel_attention,
    plot_spatial_attention,
    plot_temporal_attention,
)
from .attribution import plot_attention_vs_attribution
from .graphs import (
    Panel,
    plot_alpha,
    plot_data_graph,
    plot_graph_change,
    plot_graph_drift,
    plot_graph_on_skeleton,
    plot_heatmaps,
    plot_labelled_matrix,
    plot_learned_graph,
    plot_partition,
)
from .skeleton import (
    Edge,
    NotebookFigure,
    animate_skeleton,
    as_keypoints,
    draw_skeleton,
    draw_skeleton_3d,
    graph_edges,
    guess_plane,
    new_figure,
    plot_skeleton,
    plot_skeleton_3d,
    rest_pose,
    skeleton_traces,
)
from .training import (
    confusion_matrix,
    normalize_confusion,
    per_class_accuracy,
    plot_confusion,
    plot_curves,
    plot_fusion,
    plot_intervals,
    plot_per_class_accuracy,
    read_metrics,
    top_confusions,
)
from .widgets import Explorer, attention_explorer, graph_explorer, skeleton_player  # ipywidgets loads on first use

__all__ = [
    "Edge",
    "Explorer",
    "NotebookFigure",
    "Panel",
    "animate_skeleton",
    "as_keypoints",
    "attention_explorer",
    "confusion_matrix",
    "draw_skeleton",
    "draw_skeleton_3d",
    "graph_edges",
    "graph_explorer",
    "guess_plane",
    "new_figure",
    "normalize_confusion",
    "per_class_accuracy",
    "plot_ablation",
    "plot_alpha",
    "plot_attention_summary",
    "plot_attention_vs_attribution",
    "plot_channel_attention",
    "plot_confusion",
    "plot_curves",
    "plot_data_graph",
    "plot_fusion",
    "plot_graph_drift",
    "plot_graph_change",
    "plot_graph_on_skeleton",
    "plot_labelled_matrix",
    "plot_heatmaps",
    "plot_learned_graph",
    "plot_partition",
    "plot_intervals",
    "plot_per_class_accuracy",
    "plot_skeleton",
    "plot_skeleton_3d",
    "plot_spatial_attention",
    "plot_temporal_attention",
    "read_metrics",
    "rest_pose",
    "skeleton_player",
    "skeleton_traces",
    "top_confusions",
]
