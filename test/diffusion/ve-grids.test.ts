/**
 * The sigma grids of the schedulers against each other and against their own timesteps. diffusers
 * 0.30.3 builds the grids of Euler, Euler ancestral, LMS and Heun with the same code, so on the same
 * config Heun's distinct sigmas and timesteps are Euler's (Heun repeats each interior one for its
 * second stage), and LMS's and Euler ancestral's are Euler's, for every timestep spacing, Karras or
 * not. Whatever the grid, the sigma a scheduler steps with must be the noise level of the timestep it
 * hands the model: the training sigma interpolated there (the solvers: at an integer timestep), or for
 * a Karras grid the timestep must be that sigma's preimage. Class defaults differ, as in diffusers:
 * Heun's beta range is 0.00085..0.012, the others' 0.0001..0.02.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../src/diffusion/registry.js";
import { logSigmas, sigmasAtTimesteps, sigmaToT } from "../../src/diffusion/sigma-grid.js";
import { TIMESTEP_SPACINGS } from "../../src/diffusion/timesteps.js";

interface Grid {
  sigmas: Float64Array;
  timesteps: Float64Array;
  initNoiseSigma: number;
  trainSigmas: Float64Array;
}

function grid(name: string, config: Record<string, unknown>, n: number): Grid {
  const s = createScheduler(name, config);
  s.setTimesteps(n);
  return s as unknown as Grid;
}

/** Heun's [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0] and [t0, t1, t1, ...]: each interior value twice. */
function deinterleave(heun: Grid): { sigmas: number[]; timesteps: number[] } {
  const s = Array.from(heun.sigmas);
  const t = Array.from(heun.timesteps);
  for (let k = 1; k < t.length; k += 2) {
    expect(t[k + 1], `timesteps[${k + 1}]`).toBe(t[k]);
    expect(s[k + 1], `sigmas[${k + 1}]`).toBe(s[k]);
  }
  return {
    sigmas: s.filter((_, k) => k === 0 || k % 2 === 1 || k === s.length - 1),
    timesteps: t.filter((_, k) => k === 0 || k % 2 === 1),
  };
}

const SCHEDULES = ["linear", "scaled_linear", "squaredcos_cap_v2"] as const;

/** A model's schedule with explicit betas (as a saved config carries them), any spacing. */
const configArb = fc.record({
  beta_schedule: fc.constantFrom(...SCHEDULES),
  beta_start: fc.constantFrom(0.0001, 0.00085, 0.0005),
  beta_end: fc.constantFrom(0.02, 0.012, 0.015),
  timestep_spacing: fc.constantFrom(...TIMESTEP_SPACINGS),
  steps_offset: fc.constantFrom(0, 1),
});

const relClose = (got: number, want: number, what: string) =>
  expect(Math.abs(got - want), what).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-9);

describe("Heun, LMS and Euler ancestral step on Euler's grid", () => {
  it("on every spacing, Karras or not, with any schedule and number of steps", () => {
    fc.assert(
      fc.property(configArb, fc.boolean(), fc.integer({ min: 1, max: 60 }), (base, karras, n) => {
        const config = { ...base, use_karras_sigmas: karras };
        const euler = grid("EulerDiscreteScheduler", config, n);
        const heun = grid("HeunDiscreteScheduler", config, n);
        expect(heun.sigmas.length).toBe(2 * n);
        expect(heun.timesteps.length).toBe(2 * n - 1);
        const distinct = deinterleave(heun);
        expect(distinct.sigmas).toEqual(Array.from(euler.sigmas));
        // Karras timesteps (sigma's preimage) stay float64 in Heun and LMS, Euler stores float32.
        expect(distinct.timesteps.map(Math.fround)).toEqual(Array.from(euler.timesteps));
        expect(heun.initNoiseSigma).toBe(euler.initNoiseSigma);
        const lms = grid("LMSDiscreteScheduler", config, n);
        expect(Array.from(lms.sigmas)).toEqual(Array.from(euler.sigmas));
        expect(Array.from(lms.timesteps, Math.fround)).toEqual(Array.from(euler.timesteps));
        expect(lms.initNoiseSigma).toBe(euler.initNoiseSigma);
        if (!karras) {
          const ancestral = grid("EulerAncestralDiscreteScheduler", base, n);
          expect(Array.from(ancestral.sigmas)).toEqual(Array.from(euler.sigmas));
          expect(Array.from(ancestral.timesteps)).toEqual(Array.from(euler.timesteps));
          expect(ancestral.initNoiseSigma).toBe(euler.initNoiseSigma);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("one Karras step is sigma_max alone (diffusers' ramp [0]), on every spacing", () => {
    for (const timestep_spacing of TIMESTEP_SPACINGS) {
      for (const name of ["EulerDiscreteScheduler", "HeunDiscreteScheduler", "LMSDiscreteScheduler"]) {
        const plain = grid(name, { timestep_spacing }, 1);
        const karras = grid(name, { timestep_spacing, use_karras_sigmas: true }, 1);
        expect(Array.from(karras.sigmas), `${name} ${timestep_spacing}`).toEqual(Array.from(plain.sigmas));
        expect(karras.timesteps[0]).toBeCloseTo(plain.timesteps[0], 3);
      }
    }
  });
});

describe("every scheduler's sigma is the noise level of the timestep the model sees", () => {
  const VE = ["EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "LMSDiscreteScheduler"];
  const SOLVERS = ["DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "UniPCMultistepScheduler"];
  it("interpolated grids: sigma_i = sigma(t_i); Karras grids: t_i = t(sigma_i)", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom("HeunDiscreteScheduler", ...VE, ...SOLVERS),
        (base, karras, n, name) => {
          if (name === "EulerAncestralDiscreteScheduler" && karras) return;
          // DPM-Solver singlestep has no timestep_spacing, steps_offset in diffusers 0.30.3 (they'd warn).
          const { timestep_spacing, steps_offset, ...rest } = base;
          const spacing = name === "DPMSolverSinglestepScheduler" ? {} : { timestep_spacing, steps_offset };
          const config = { ...rest, ...spacing, ...(karras ? { use_karras_sigmas: true } : {}) };
          const g = grid(name, config, n);
          const logs = logSigmas(g.trainSigmas);
          // Heun's model sees timesteps[j] at sigmas[j] in both stages; the others one per step.
          for (let j = 0; j < g.timesteps.length; j++) {
            const [t, sigma] = [g.timesteps[j], g.sigmas[j]];
            const what = `${name} ${JSON.stringify(config)} n=${n} step ${j}`;
            if (!karras) relClose(sigma, sigmasAtTimesteps([t], g.trainSigmas)[0], what);
            else if (SOLVERS.includes(name))
              expect(Math.abs(sigmaToT(sigma, logs) - t), what).toBeLessThanOrEqual(0.5 + 1e-6);
            else expect(Math.abs(sigmaToT(sigma, logs) - t), what).toBeLessThan(1e-3);
          }
          expect(g.sigmas.length).toBe(name === "HeunDiscreteScheduler" ? 2 * n : n + 1);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("class defaults (diffusers 0.30.3)", () => {
  it("Heun's default beta range is 0.00085..0.012: without beta_start/beta_end its grid is not Euler's", () => {
    for (const timestep_spacing of TIMESTEP_SPACINGS) {
      const heun = grid("HeunDiscreteScheduler", { beta_schedule: "linear", timestep_spacing }, 4);
      const euler = grid("EulerDiscreteScheduler", { beta_schedule: "linear", timestep_spacing }, 4);
      const eulerOnHeunBetas = grid(
        "EulerDiscreteScheduler",
        { beta_schedule: "linear", beta_start: 0.00085, beta_end: 0.012, timestep_spacing },
        4,
      );
      expect(deinterleave(heun).sigmas).toEqual(Array.from(eulerOnHeunBetas.sigmas));
      // less total noise: a smaller sigma_max than Euler's default schedule (about 25 vs 157)
      expect(heun.initNoiseSigma).toBeLessThan(euler.initNoiseSigma / 2);
    }
  });
});
