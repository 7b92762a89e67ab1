/** CSKD (Cumulative Spatial Knowledge Distillation, ICCV 2023) as a distiller: a stage probe head or the logits, supervised by the teacher's fused dense/global response, and its parity computation. */
package dev.retort.distill.cskd;
