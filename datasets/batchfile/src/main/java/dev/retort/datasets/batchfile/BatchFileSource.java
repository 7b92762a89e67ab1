package dev.retort.datasets.batchfile;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.api.error.RetortConfigException;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The samples of a batch file, checked and held in memory: sample {@code t·B + i} is image {@code i} of batch
 * {@code t}. Opening checks every entry (pairs complete and numbered from 0, shapes, dtypes, finite images, labels in
 * the label space) and names every bad one; nothing is trained on a file with a bad entry.
 */
final class BatchFileSource implements SampleSource {
    private static final Pattern KEY = Pattern.compile("(images|labels)\\.(\\d+)");

    private final DatasetInfo info;
    private final List<Sample> samples;

    private BatchFileSource(DatasetInfo info, List<Sample> samples) {
        this.info = info;
        this.samples = samples;
    }

    static BatchFileSource read(Path file, DatasetInfo info) throws IOException {
        List<String> problems = new ArrayList<>();
        List<Sample> samples = new ArrayList<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            TreeSet<Integer> images = new TreeSet<>(), labels = new TreeSet<>();
            for (String k : f.tensors().keySet()) {
                Matcher m = KEY.matcher(k);
                if (!m.matches()) {
                    problems.add(k + ": not images.<t> or labels.<t>");
                    continue;
                }
                (m.group(1).equals("images") ? images : labels).add(Integer.parseInt(m.group(2)));
            }
            if (images.isEmpty()) problems.add("no images.<t> tensors");
            int batches = images.isEmpty() ? 0 : images.last() + 1;
            for (int t = 0; t < Math.max(batches, labels.isEmpty() ? 0 : labels.last() + 1); t++) {
                if (!images.contains(t)) problems.add("images." + t + ": missing (batches are numbered from 0 without gaps)");
                if (!labels.contains(t)) problems.add("labels." + t + ": missing (each images.<t> needs its labels.<t>)");
            }
            long[] first = null, firstLabel = null;
            for (int t = 0; t < batches; t++) {
                if (!images.contains(t) || !labels.contains(t)) continue;
                String ik = "images." + t, lk = "labels." + t;
                long[] is = f.info(ik).shape(), ls = f.info(lk).shape();
                boolean ok = true;
                if (!f.info(ik).dtype().floating()) ok = bad(problems, ik + ": " + f.info(ik).dtype() + ", images must be floating point");
                if (f.info(lk).dtype().floating()) ok = bad(problems, lk + ": " + f.info(lk).dtype() + ", labels must be integers (class ids)");
                if (is.length != 4 || is[1] != 3) ok = bad(problems, ik + ": shape " + Arrays.toString(is) + ", expected [B, 3, H, W]");
                if (ls.length != 3) ok = bad(problems, lk + ": shape " + Arrays.toString(ls) + ", expected [B, h, w]");
                if (!ok) continue;
                if (ls[0] != is[0]) ok = bad(problems, lk + ": " + ls[0] + " labels for " + is[0] + " images in " + ik);
                if (ls[1] > is[2] || ls[2] > is[3]) ok = bad(problems, lk + ": labels " + ls[1] + "x" + ls[2] + " larger than the images " + is[2] + "x" + is[3]);
                if (first == null) {
                    first = is;
                    firstLabel = ls;
                } else if (!Arrays.equals(first, is) || !Arrays.equals(firstLabel, ls)) {
                    ok = bad(problems, ik + "/" + lk + ": shapes " + Arrays.toString(is) + "/" + Arrays.toString(ls) + " differ from batch 0's "
                            + Arrays.toString(first) + "/" + Arrays.toString(firstLabel) + " (every batch has one size)");
                }
                if (!ok) continue;
                float[] image = f.readFloats(ik);
                long[] label = f.readLongs(lk);
                int nonFinite = 0;
                for (float v : image) if (!Float.isFinite(v)) nonFinite++;
                if (nonFinite > 0) bad(problems, ik + ": " + nonFinite + " NaN or infinite values");
                int outside = 0;
                long example = 0;
                for (long v : label) {
                    if (!(v >= 0 && v < info.classes().size() || v == info.ignoreClass())) {
                        if (outside++ == 0) example = v;
                    }
                }
                if (outside > 0) {
                    bad(problems, lk + ": " + outside + " values outside 0.." + (info.classes().size() - 1) + " and the ignore value " + info.ignoreClass()
                            + " (e.g. " + example + ")");
                }
                if (nonFinite > 0 || outside > 0) continue;
                int b = (int) is[0], h = (int) is[2], w = (int) is[3], lh = (int) ls[1], lw = (int) ls[2];
                for (int i = 0; i < b; i++) {
                    int[] lab = new int[lh * lw];
                    for (int j = 0; j < lab.length; j++) lab[j] = (int) label[i * lab.length + j];
                    samples.add(new Sample("batch " + t + " image " + i, h, w, Arrays.copyOfRange(image, i * 3 * h * w, (i + 1) * 3 * h * w), lh, lw, lab));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new RetortConfigException(BatchFileDataset.NAME + ": " + file + ": " + problems.size() + " bad entr" + (problems.size() == 1 ? "y" : "ies")
                    + ": " + String.join("; ", problems.subList(0, Math.min(20, problems.size()))) + (problems.size() > 20 ? "; …" : ""));
        }
        return new BatchFileSource(info, List.copyOf(samples));
    }

    private static boolean bad(List<String> problems, String problem) {
        problems.add(problem);
        return false;
    }

    @Override
    public int size() {
        return samples.size();
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    /** The recorded sample; {@code seed} is not used (the file's batches are replayed as stored). */
    @Override
    public Sample get(int index, long seed) {
        return samples.get(index);
    }

    @Override
    public boolean fixedOrder() {
        return true;
    }

    @Override
    public void close() {}
}
