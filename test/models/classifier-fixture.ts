/** A tiny NoiseConditionedClassifier config (8x8x1 images, 3 classes) shared by the classifier tests. */
export const TINY_CLASSIFIER = {
  sample_size: 8,
  in_channels: 1,
  num_classes: 3,
  block_out_channels: [8, 8],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  layers_per_block: 1,
  attention_head_dim: 8,
  norm_num_groups: 4,
};
