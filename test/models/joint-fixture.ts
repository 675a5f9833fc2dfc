/** A tiny JointUNet config (8x8 images, 3 labels) for the joint model's tests. */
export const TINY_JOINT = {
  label_dim: 3,
  label_hidden: 8,
  unet: {
    sample_size: 8,
    in_channels: 1,
    out_channels: 1,
    block_out_channels: [8, 8],
    down_block_types: ["DownBlock2D", "DownBlock2D"],
    up_block_types: ["UpBlock2D", "UpBlock2D"],
    layers_per_block: 1,
    norm_num_groups: 4,
  },
};
