/** TransKD's EA distiller (the Embedding Assistant), a refinement of PEA's projections. */
package dev.retort.distill.ea;
