"""Phone-size photos for the benchmarks: the shared dog photos upscaled to 4000x3000
JPEGs (quality 90), one in ten grayscale, one in ten CMYK, and one in ten a portrait
stored on its side with EXIF orientation 6, as phones write them.

Usage: python make-phone-photos.py SRC OUT [N]   (Pillow; `make results-photos` runs it)
"""
import os
import sys

from PIL import Image


def main():
    src, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 118
    os.makedirs(out, exist_ok=True)
    for i, name in enumerate(sorted(os.listdir(src))[:n]):
        image = Image.open(os.path.join(src, name)).convert("RGB")
        image = image.resize((4000, 3000), Image.BICUBIC)
        path = os.path.join(out, os.path.splitext(name)[0] + ".jpg")
        if i % 10 == 3:
            image.convert("L").save(path, quality=90)
        elif i % 10 == 7:
            image.convert("CMYK").save(path, quality=90)
        elif i % 10 == 5:
            exif = Image.Exif()
            exif[0x0112] = 6  # rotate 90 degrees clockwise to show
            image.transpose(Image.ROTATE_90).save(path, quality=90, exif=exif.tobytes())
        else:
            image.save(path, quality=90)


if __name__ == "__main__":
    main()
