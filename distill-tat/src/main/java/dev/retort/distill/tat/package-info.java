/** TaT (Knowledge Distillation via the Target-aware Transformer, CVPR 2022) as a distiller: patch-group and anchor-point attention per MiT stage, and its parity computation. */
package dev.retort.distill.tat;
