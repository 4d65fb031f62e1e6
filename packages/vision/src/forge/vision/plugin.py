"""forge-vision's entry-point module (``forge.plugins``: ``vision = "forge.vision.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from forge.core.hookspecs import CommandRegister, Register, hookimpl

__all__ = [
    "FORGE_PLUGIN_API",
    "forge_register_commands",
    "forge_register_datasets",
    "forge_register_losses",
    "forge_register_models",
    "forge_register_recipes",
    "forge_register_transforms",
]

FORGE_PLUGIN_API = 1

_T = "forge.vision.transforms"
_TC = f"{_T}.configs"
# (short name, builder, config class, summary, tags)
_TRANSFORMS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "resize",
        f"{_T}.geometric:Resize",
        f"{_TC}:ResizeConfig",
        "Resize images (shorter side or exact size)",
        ("geometric",),
    ),
    ("center_crop", f"{_T}.geometric:CenterCrop", f"{_TC}:CenterCropConfig", "Crop the image centre", ("geometric",)),
    (
        "random_resized_crop",
        f"{_T}.geometric:RandomResizedCrop",
        f"{_TC}:RandomResizedCropConfig",
        "Random area and aspect-ratio crop, resized (Inception-style)",
        ("geometric", "augmentation"),
    ),
    (
        "random_horizontal_flip",
        f"{_T}.geometric:RandomHorizontalFlip",
        f"{_TC}:RandomHorizontalFlipConfig",
        "Flip images left-right with probability p",
        ("geometric", "augmentation"),
    ),
    (
        "random_vertical_flip",
        f"{_T}.geometric:RandomVerticalFlip",
        f"{_TC}:RandomVerticalFlipConfig",
        "Flip images upside down with probability p",
        ("geometric", "augmentation"),
    ),
    ("normalize", f"{_T}.color:Normalize", f"{_TC}:NormalizeConfig", "Per-channel mean/std normalization", ("color",)),
    (
        "color_jitter",
        f"{_T}.color:ColorJitter",
        f"{_TC}:ColorJitterConfig",
        "Random brightness, contrast, saturation and hue",
        ("color", "augmentation"),
    ),
    (
        "trivial_augment",
        f"{_T}.autoaugment:TrivialAugment",
        f"{_TC}:TrivialAugmentConfig",
        "TrivialAugment (wide): one random op at a random magnitude per image",
        ("augmentation", "policy"),
    ),
    (
        "rand_augment",
        f"{_T}.autoaugment:RandAugment",
        f"{_TC}:RandAugmentConfig",
        "RandAugment: num_ops random ops at a fixed magnitude per image",
        ("augmentation", "policy"),
    ),
    (
        "compose",
        f"{_T}.base:build_compose",
        f"{_TC}:ComposeConfig",
        "Apply serialized transforms in order, optionally seeded",
        ("pipeline",),
    ),
)


@hookimpl
def forge_register_models(register: Register) -> None:
    """Register the CNN families (ResNet, EfficientNet, MobileNet)."""
    from forge.vision.models.catalog import register_models

    register_models(register)


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register digits, shapes and image-folder datasets."""
    register(
        "digits",
        builder="forge.vision.datasets.digits:build_digits",
        config="forge.vision.datasets.configs:DigitsConfig",
        summary="scikit-learn's bundled 8x8 hand-written digits, 10 classes (no download)",
        tags=("image-classification", "builtin-data"),
    )
    register(
        "shapes",
        builder="forge.vision.datasets.shapes:build_shapes",
        config="forge.vision.datasets.configs:ShapesConfig",
        summary="Procedurally drawn shapes with noise (no files needed)",
        tags=("image-classification", "builtin-data", "synthetic"),
    )
    register(
        "image_folder",
        builder="forge.vision.datasets.image_folder:build_image_folder",
        config="forge.vision.datasets.configs:ImageFolderConfig",
        summary="root/<split>/<class>/<image> folders read with Pillow (ImageNet's layout)",
        tags=("image-classification",),
    )


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the tensor transforms and the batch-level mixers."""
    for name, builder, config, summary, tags in _TRANSFORMS:
        register(name, builder=builder, config=config, summary=summary, tags=("image", *tags))
    register(
        "mixup",
        builder="forge.vision.augment.mixing:build_mixup",
        config="forge.vision.augment.configs:MixUpConfig",
        summary="Batch MixUp with soft targets (alpha 0.2)",
        tags=("image", "augmentation", "batch"),
    )
    register(
        "cutmix",
        builder="forge.vision.augment.mixing:build_cutmix",
        config="forge.vision.augment.configs:CutMixConfig",
        summary="Batch CutMix with soft targets (alpha 0.2)",
        tags=("image", "augmentation", "batch"),
    )


@hookimpl
def forge_register_losses(register: Register) -> None:
    """Register the soft-target cross-entropy."""
    register(
        "soft_target_cross_entropy",
        builder="forge.vision.augment.losses:build_soft_target_cross_entropy",
        config="forge.vision.augment.configs:SoftTargetCrossEntropyConfig",
        summary="Cross-entropy against probability targets (mixup, cutmix, label smoothing)",
        tags=("classification",),
    )


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes."""
    register(
        "digits",
        builder="forge.vision.recipes:digits.toml",
        summary="Small ResNet-18 on scikit-learn digits: >= 97% test accuracy in minutes on a CPU",
        tags=("image-classification", "quickstart"),
    )
    register(
        "shapes",
        builder="forge.vision.recipes:shapes.toml",
        summary="Small ResNet-18 on procedural shapes with TrivialAugment and mixup",
        tags=("image-classification",),
    )
    register(
        "imagenet_resnet50",
        builder="forge.vision.recipes:imagenet_resnet50.toml",
        summary="ResNet-50 on ImageNet folders: SGD, lr 0.1 x batch/256, 90 epochs, label smoothing 0.1",
        tags=("image-classification", "real-data"),
    )


@hookimpl
def forge_register_commands(register: CommandRegister) -> None:
    """Register ``forge explain``."""
    from forge.vision.explain.command import explain_command

    register(explain_command)
