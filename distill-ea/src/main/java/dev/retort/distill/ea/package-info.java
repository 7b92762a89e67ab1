/** TransKD's EA distiller (the Embedding Assistant), a refinement of PEA's projections, and its parity case. */
package dev.retort.distill.ea;
