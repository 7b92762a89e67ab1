package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The multi-tensor kernels against PyTorch's AdamW formulas computed here in double precision, and the finite flags. */
class MultiTensorTest {
    static Engine engine;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    /** Gives each parameter the gradient {@code grads[i]} (a backward of Σ w·g). */
    private static void setGradients(NDManager m, List<NDArray> params, float[][] grads) {
        try (GradientCollector c = engine.newGradientCollector()) {
            NDArray total = null;
            for (int i = 0; i < params.size(); i++) {
                if (grads[i] == null) continue;
                NDArray term = params.get(i).mul(m.create(grads[i], params.get(i).getShape())).sum();
                total = total == null ? term : total.add(term);
            }
            c.backward(total);
        }
    }

    @Test
    void adamwFollowsPyTorchsFormulasAndAParameterWithoutGradientTakesNoPart() {
        double lr = 1e-2, b1 = 0.9, b2 = 0.999, wd = 0.05, eps = 1e-8;
        Random r = new Random(5);
        try (NDManager m = engine.newBaseManager()) {
            int[] sizes = {6, 3, 4};
            List<NDArray> ps = new ArrayList<>(), ms = new ArrayList<>(), vs = new ArrayList<>();
            double[][] w = new double[3][], mm = new double[3][], vv = new double[3][];
            for (int i = 0; i < 3; i++) {
                float[] init = new float[sizes[i]];
                w[i] = new double[sizes[i]];
                for (int j = 0; j < init.length; j++) w[i][j] = init[j] = (float) r.nextGaussian();
                mm[i] = new double[sizes[i]];
                vv[i] = new double[sizes[i]];
                NDArray p = m.create(init);
                p.setRequiresGradient(true);
                ps.add(p);
                ms.add(m.zeros(new Shape(sizes[i])));
                vs.add(m.zeros(new Shape(sizes[i])));
            }
            // the third parameter never takes part in the loss: its gradient stays undefined
            ps.get(2).setRequiresGradient(false);
            ps.get(2).setRequiresGradient(true);
            for (int step = 1; step <= 5; step++) {
                float[][] g = new float[3][];
                for (int i = 0; i < 2; i++) {
                    g[i] = new float[sizes[i]];
                    for (int j = 0; j < g[i].length; j++) g[i][j] = (float) (r.nextGaussian() * Math.pow(10, step % 3 - 1));
                }
                setGradients(m, ps.subList(0, 2), g);
                assertArrayEquals(new long[] {0, 1}, MultiTensor.takingPart(ps, new boolean[3]), "the third parameter has no gradient");
                assertArrayEquals(new long[] {0, 1}, MultiTensor.takingPart(ps, new boolean[] {true, true, true}), "not even with state");
                MultiTensor.adamw(ps.subList(0, 2), ms.subList(0, 2), vs.subList(0, 2), new double[] {step, step}, lr, b1, b2, wd, eps);
                double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < sizes[i]; j++) {
                        w[i][j] *= 1 - lr * wd;
                        mm[i][j] = b1 * mm[i][j] + (1 - b1) * g[i][j];
                        vv[i][j] = b2 * vv[i][j] + (1 - b2) * g[i][j] * (double) g[i][j];
                        w[i][j] -= lr / bc1 * mm[i][j] / (Math.sqrt(vv[i][j]) / Math.sqrt(bc2) + eps);
                    }
                    float[] actual = ps.get(i).toFloatArray();
                    for (int j = 0; j < sizes[i]; j++) assertEquals(w[i][j], actual[j], 1e-6 * (1 + Math.abs(w[i][j])), "param " + i + "[" + j + "] step " + step);
                }
                MultiTensor.zeroGradients(ps);
            }
            assertArrayEquals(new float[] {(float) w[2][0], (float) w[2][1]}, new float[] {ps.get(2).toFloatArray()[0], ps.get(2).toFloatArray()[1]},
                    "a parameter without gradient is left alone");
        }
    }

    /** A gradient that is exactly zero everywhere is PyTorch's None for a parameter without state, and a gradient like any other once it has state. */
    @Test
    void aZeroGradientTakesPartOnlyWithState() {
        try (NDManager m = engine.newBaseManager()) {
            List<NDArray> ps = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                NDArray p = m.ones(new Shape(2));
                p.setRequiresGradient(true);
                ps.add(p);
            }
            setGradients(m, ps, new float[][] {{0, 0}, {0, 1e-30f}, {0, 0}});
            assertArrayEquals(new long[] {1}, MultiTensor.takingPart(ps, new boolean[] {false, false, false}));
            assertArrayEquals(new long[] {1, 2}, MultiTensor.takingPart(ps, new boolean[] {false, false, true}));
        }
    }

    @Test
    void oneFlagSaysWhetherEveryGradientIsFiniteAndThePerParameterFlagsNameTheOffender() {
        try (NDManager m = engine.newBaseManager()) {
            List<NDArray> ps = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                NDArray p = m.ones(new Shape(4));
                p.setRequiresGradient(true);
                ps.add(p);
            }
            setGradients(m, ps, new float[][] {{1, 2, 3, 4}, {1e30f, -1e30f, 0, 1}, {0, 0, 0, 0}});
            NDArray flag = MultiTensor.allFiniteGradients(ps, m);
            assertEquals(new Shape(1), flag.getShape());
            assertTrue(flag.getBoolean(), "large but finite values are finite");
            setGradients(m, ps, new float[][] {{1, 2, 3, 4}, {1, Float.NaN, 0, 1}, {0, 0, Float.POSITIVE_INFINITY, 0}});
            assertFalse(MultiTensor.allFiniteGradients(ps, m).getBoolean());
            assertArrayEquals(new boolean[] {true, false, false}, MultiTensor.finiteGradients(ps, m).toBooleanArray());
            MultiTensor.zeroGradients(ps);
            for (NDArray p : ps) assertArrayEquals(new float[4], p.getGradient().toFloatArray(), "zeroed, NaN included");
            assertTrue(MultiTensor.allFiniteGradients(ps, m).getBoolean());
        }
    }
}
