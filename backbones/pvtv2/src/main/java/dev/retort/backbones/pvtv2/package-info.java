/**
 * PVTv2-B0 … B5 (and B2-Li) encoders with the Semantic FPN neck and head, as TransKD builds them
 * ({@code build_pvts}), registered as the {@code pvtv2} {@code Backbone} service.
 *
 * <p>The network is a tree of blocks ({@link dev.retort.backbones.pvtv2.Block}): each owns its checkpoint name
 * prefix ({@code backbone.block1.0.attn}, {@code neck.fpn_convs.2}, {@code head.scale_heads.3.4}, …), declares its
 * parameters with the reference's initialisation, computes its forward pass and counts its own cost.
 */
package dev.retort.backbones.pvtv2;
