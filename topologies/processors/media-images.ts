import sharp from 'sharp';

/** A thumbnail fits in a square of this side, in pixels (docs/protocol.md#media). */
export const THUMBNAIL_MAX_SIDE = 320;
export const THUMBNAIL_TYPE = 'image/webp';

/** What the media processor learns from an image's bytes. */
export interface ImageMeasures {
  /** As shown: EXIF orientation applied, so a portrait photo taken sideways is taller than wide. */
  width: number;
  height: number;
  /** WebP, no side longer than THUMBNAIL_MAX_SIDE, never larger than the original. */
  thumbnail: Buffer;
}

/**
 * Dimensions and a thumbnail of an uploaded image (the first frame of an animated one). Rejects
 * when the bytes are not an image sharp can read whole: the caller records the item without
 * them, since the same bytes would fail the same way on every retry.
 */
export async function measureImage(bytes: Buffer): Promise<ImageMeasures> {
  // 'error' rather than the default 'warning': a photo with a harmless warning still gets its thumbnail.
  const meta = await sharp(bytes, { failOn: 'error' }).metadata();
  const thumbnail = await sharp(bytes, { failOn: 'error', autoOrient: true })
    .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
  return { width: meta.autoOrient.width, height: meta.autoOrient.height, thumbnail };
}
