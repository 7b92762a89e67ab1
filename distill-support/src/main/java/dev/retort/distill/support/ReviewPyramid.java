package dev.retort.distill.support;

import ai.djl.ndarray.NDArray;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * The knowledge-review pyramid of ReviewKD (Chen et al., CVPR 2021), which TransKD's CSF keeps and only changes the
 * fusion of: one cell per stage, evaluated deepest first. A cell maps the student's stage map to {@code mid} channels
 * (1×1 conv + BN, {@code conv1}), fuses it with the deeper cell's map (a method's own {@link Fusion}; the deepest cell
 * has none), projects the result to the teacher's width (3×3 conv + BN, {@code conv2}) and hands the fused map
 * (before {@code conv2}) to the next, shallower cell. The projections are compared with the teacher's stage maps by
 * the HCL pyramid loss ({@link Losses#hcl}).
 *
 * <p>Cells are stored reversed, as both references store their {@code nn.ModuleList}: cell 0 is the deepest stage's
 * ({@code <cells>.0.conv1.0.weight}). Both convolutions start Kaiming-uniform with a = 1, as the references set them.
 */
public final class ReviewPyramid {
    /** How a cell fuses its stage's map with the deeper cell's fused map. */
    @FunctionalInterface
    public interface Fusion {
        /**
         * @param cell     the cell's key prefix ({@code skfs.1.})
         * @param x        the stage's map after {@code conv1}, [B, mid, H, W]
         * @param deeper   the deeper cell's fused map, already resized to H×W (PyTorch's legacy nearest)
         * @param training whether BatchNorm uses batch statistics
         * @return the fused map, [B, mid, H, W]
         */
        NDArray fuse(String cell, NDArray x, NDArray deeper, boolean training);
    }

    /** The stage widths a pyramid pairs, stage 1 first. */
    public record Widths(int[] student, int[] teacher) {
        public Widths {
            student = student.clone();
            teacher = teacher.clone();
        }

        public int stages() {
            return student.length;
        }
    }

    private final ParameterSet params;
    private final String cells;
    private final int stages;

    private ReviewPyramid(ParameterSet params, String cells, int stages) {
        this.params = params;
        this.cells = cells;
        this.stages = stages;
    }

    /**
     * The stage widths of a teacher/student pair, checked: both have the same number of stages, each stage's
     * {@code features.s} map exists on both sides with the same stride.
     *
     * @param method the distiller's name, for messages ("{@code <method>: stage 2: …}")
     */
    public static Widths widths(DistillContext context, String method) {
        int n = context.student().stages();
        if (n != context.teacher().stages() || n == 0) {
            throw new RetortConfigException(method + ": student " + context.student().network() + " has " + n + " stages, teacher "
                    + context.teacher().network() + " has " + context.teacher().stages() + "; " + method + " pairs them stage by stage");
        }
        int[] student = new int[n], teacher = new int[n];
        for (int st = 1; st <= n; st++) {
            TapSpec s = context.student().require(TapNames.features(st));
            TapSpec t = context.teacher().require(TapNames.features(st));
            if (s.stride() != t.stride()) {
                throw new RetortConfigException(method + ": stage " + st + ": student " + context.student().network() + " " + s
                        + " and teacher " + context.teacher().network() + " " + t + " differ in spatial size");
            }
            student[st - 1] = s.channels();
            teacher[st - 1] = t.channels();
        }
        return new Widths(student, teacher);
    }

    /**
     * Adds every cell's {@code conv1} and {@code conv2} to {@code params}; after each cell, {@code fusionParameters}
     * gets the cell's prefix and stage to add what its fusion needs (called for every cell but the deepest).
     *
     * @param cells the cells' key prefix with its dot ({@code skfs.}, {@code abfs.})
     */
    public static ReviewPyramid add(ParameterSet params, String cells, Widths widths, int mid, BiConsumer<String, Integer> fusionParameters) {
        if (mid < 1) throw new IllegalArgumentException("mid channels must be >= 1, got " + mid);
        int n = widths.stages();
        for (int cell = 0; cell < n; cell++) {
            int stage = n - cell;
            String c = cells + cell + ".";
            int cs = widths.student()[stage - 1], ct = widths.teacher()[stage - 1];
            ConvBn.add(params, c + "conv1", cs, mid, 1, Init.kaimingUniform(1, cs));
            ConvBn.add(params, c + "conv2", mid, ct, 3, Init.kaimingUniform(1, 9L * mid));
            if (stage < n) fusionParameters.accept(c, stage);
        }
        return new ReviewPyramid(params, cells, n);
    }

    /** The key prefix of the cell of {@code stage} ({@code skfs.0.} for the deepest). */
    public String cell(int stage) {
        if (stage < 1 || stage > stages) throw new IllegalArgumentException("no stage " + stage + " in a pyramid of " + stages);
        return cells + (stages - stage) + ".";
    }

    public int stages() {
        return stages;
    }

    /** The teacher taps {@link #hcl} compares with: {@code features.s} of every stage. */
    public Set<String> teacherTaps() {
        Set<String> taps = new TreeSet<>();
        for (int s = 1; s <= stages; s++) taps.add(TapNames.features(s));
        return taps;
    }

    /**
     * Runs the cells deepest first on the student's {@code features.s} maps.
     *
     * @param record sees each stage's projection as {@code <name>.out.<stage>} when given a name (may be null)
     * @return the projections, stage 1 first, each of its teacher stage's width
     */
    public List<NDArray> forward(TapValues student, Fusion fusion, boolean training, BiConsumer<String, NDArray> record, String name) {
        NDArray[] out = new NDArray[stages];
        NDArray residual = null;
        for (int stage = stages; stage >= 1; stage--) {
            String c = cell(stage);
            NDArray x = ConvBn.of(params, c + "conv1").forward(student.get(TapNames.features(stage)), training);
            if (residual != null) x = fusion.fuse(c, x, Resize.like(residual, x, Resize.Mode.NEAREST), training);
            NDArray y = ConvBn.of(params, c + "conv2").forward(x, training);
            if (record != null) record.accept(name + ".out." + stage, y);
            out[stage - 1] = y;
            residual = x;
        }
        return new ArrayList<>(Arrays.asList(out));
    }

    /** Σ over stages of {@link Losses#hcl}(projection, the teacher's {@code features.s}). */
    public static NDArray hcl(List<NDArray> projections, TapValues teacher) {
        NDArray loss = null;
        for (int stage = 1; stage <= projections.size(); stage++) {
            NDArray l = Losses.hcl(projections.get(stage - 1), teacher.get(TapNames.features(stage)));
            loss = loss == null ? l : loss.add(l);
        }
        if (loss == null) throw new IllegalArgumentException("no stage to compare");
        return loss;
    }
}
