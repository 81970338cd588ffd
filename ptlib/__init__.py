"""ptlib: the helper package of the course *Pre-trained Models, Hands-On*.

The notebooks hold the teaching; ptlib holds what several chapters need and what deserves tests.
Each module holds one concept and imports only from the layers below it (never inside a function):

====================  ==========================================================================
layer                 modules (what each holds)
====================  ==========================================================================
5. applications       ``qa`` (chapter 6: extractive answer spans, SQuAD scores); ``detection``
                      (chapter 7: boxes, NMS, average precision); ``segmentation`` (chapter 7:
                      tiled prediction, Dice); ``generation`` (chapter 7: the Frechet distance);
                      ``ranking`` (chapter 8: leave-last-out, HR@k, NDCG@k); ``calibration``
                      (chapter 8: reliability, ECE); ``scaling`` (chapter 10: power-law fits,
                      FLOPs); ``attribution`` (chapter 10: integrated gradients, deletion
                      curves); ``quantize`` (chapter 10: int8 linear layers)
4. chapters' recipes  ``mlm`` (chapter 3: a tiny BERT pre-trained with MLM, saved, reloaded);
                      ``contrastive`` (chapter 4: SimCLR pre-training, the saved encoder);
                      ``finetune`` (chapter 5: fine-tuning a text classifier with ``Trainer``)
3. building blocks    ``text`` (WordPiece, packing, BERT's masking); ``vision`` (augmentations,
                      the ResNet); ``train`` (the training loop, checkpoints, epoch batching);
                      ``weights`` (pre-trained checkpoints: found, verified, loaded, saved)
2. formulas           ``objectives`` (the pre-training losses); ``evaluate`` (metrics, intervals,
                      probes); ``bias`` (bias measurements); ``data`` (the datasets, by name)
1. bottom             ``checks`` (argument checks: clear errors, no NaN); ``runtime`` (seeds,
                      devices, precision); ``storage`` (the cache folder, atomic writes);
                      ``checksums`` (sha256, manifests); ``results`` (the numbers a chapter
                      records); ``plots`` (the house style)
====================  ==========================================================================

Import the modules you need, e.g. ``from ptlib import data, results``.
"""

import warnings

# tqdm.auto (used by transformers and datasets) warns in notebooks without ipywidgets and then
# falls back to text bars, which is what the book shows anyway.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.2.0"

#: Where the course lives; notebooks link their Colab badge here.
REPOSITORY = "https://github.com/pretrained-models-hands-on/course"
