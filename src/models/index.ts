/** Models with diffusers' names and configs (browser-safe; folder I/O is in pretrained-node.ts). */
export * from "./autoencoder-kl.js";
export * from "./autoencoder-kl-config.js";
export { ConfigError, type ParseOptions, type UnknownKeys } from "./config-fields.js";
export * from "./estimate.js";
export * from "./tutorial-unet.js";
export * from "./tutorial-unet-blocks.js";
export * from "./tutorial-unet-config.js";
export * from "./unet2d.js";
export * from "./unet2d-blocks.js";
export * from "./unet2d-config.js";
export * from "./vae.js";
