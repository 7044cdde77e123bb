// Camera keys shared by the reader (AlohaRewardDataset's default) and the synthetic writer,
// so the reader never imports from the writer.

/** The three ALOHA cameras, in the seed's order. */
export const ALOHA_CAMERAS = [
  'observation.images.cam_right_wrist',
  'observation.images.cam_left_wrist',
  'observation.images.cam_high',
] as const;
