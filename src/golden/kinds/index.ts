/**
 * Every golden kind handler. Importing this module registers them all; add one import per kind.
 */
import "./loss-weights.js";
import "./noise-schedules.js";
import "./optimizer.js";
import "./unet2d.js";
import "./autoencoder-kl.js";
import "./forward-process.js";
import "./sampler-trajectories.js";
import "./tutorial-unet.js";
