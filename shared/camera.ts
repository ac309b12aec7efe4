/** The camera moves a shot may use (DESIGN.md, "The scene document"). */
export const CAMERA_MOVES = ['static', 'pan-left', 'pan-right', 'pan-up', 'pan-down', 'zoom-in', 'zoom-out'] as const;
export type CameraMove = (typeof CAMERA_MOVES)[number];
