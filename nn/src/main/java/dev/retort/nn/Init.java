package dev.retort.nn;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A parameter initialiser. Values are drawn in Java from a generator seeded by the run seed and the parameter's
 * name, so a network initialises identically whatever the thread, device or order of construction.
 */
@FunctionalInterface
public interface Init {
    /** Fills {@code count} values. */
    float[] values(SplittableRandom random, int count);

    static Init constant(float v) {
        return (r, n) -> {
            float[] a = new float[n];
            Arrays.fill(a, v);
            return a;
        };
    }

    static Init zeros() {
        return constant(0f);
    }

    static Init ones() {
        return constant(1f);
    }

    /** Normal(0, std). */
    static Init normal(double std) {
        return (r, n) -> {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) (gaussian(r) * std);
            return a;
        };
    }

    /** Normal(0, std) truncated to [lo, hi] (absolute bounds, as timm's trunc_normal_ with a=-2, b=2). */
    static Init truncatedNormal(double std, double lo, double hi) {
        return (r, n) -> {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                double v;
                do {
                    v = gaussian(r) * std;
                } while (v < lo || v > hi);
                a[i] = (float) v;
            }
            return a;
        };
    }

    /** Uniform(-bound, bound). */
    static Init uniform(double bound) {
        return (r, n) -> {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
            return a;
        };
    }

    /** PyTorch's default for Linear and Conv weights and biases: kaiming_uniform(a=√5), i.e. U(±1/√fan_in). */
    static Init pytorchDefault(long fanIn) {
        return uniform(1.0 / Math.sqrt(fanIn));
    }

    /** Kaiming-uniform with negative slope {@code a}: U(±√(6 / ((1 + a²)·fan_in))). */
    static Init kaimingUniform(double a, long fanIn) {
        return uniform(Math.sqrt(6.0 / ((1 + a * a) * fanIn)));
    }

    /** Kaiming-normal for ReLU over fan-out: N(0, √(2 / fan_out)). */
    static Init kaimingNormalFanOut(long fanOut) {
        return normal(Math.sqrt(2.0 / fanOut));
    }

    private static double gaussian(SplittableRandom r) {
        // Box–Muller on the splittable generator (java.util.Random's nextGaussian is not reproducible per name).
        double u1, u2;
        do {
            u1 = r.nextDouble();
        } while (u1 <= Double.MIN_VALUE);
        u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
