/** Channel-wise distillation (CWD): each channel's map as a distribution over positions, KL with temperature. */
package dev.retort.distill.cwd;
