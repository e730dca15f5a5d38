"""sinapse.applications: ready-made models.

- The seed models and their training recipes (``seeds.py``): ``build(name)``, ``BUILDERS``,
  ``RECIPES``, ``mlp``, ``keras_mnist_cnn``, ``lenet5``, ``geron_cnn``, ``alexnet``.
- Keras's pretrained architectures, with Keras's signatures, layer names and weight order
  (docs/applications.md): ``VGG16``, ``VGG19`` (``vgg.py``), ``ResNet50``, ``ResNet101``,
  ``ResNet152`` (``resnet.py``), ``InceptionV3`` (``inception_v3.py``), ``MobileNet``
  (``mobilenet.py``), and the small CIFAR
  ResNets ``ResNet20`` / ``resnet_cifar(depth)``. Keras's submodules are here too:
  ``applications.vgg16.preprocess_input``, ``resnet50``, ``inception_v3``, ``imagenet_utils``.

    from sinapse import applications
    model = applications.build("keras_mnist_cnn")
    model.compile(**applications.RECIPES["keras_mnist_cnn"].compile_args())
    base = applications.ResNet50(include_top=False, input_shape=(64, 64, 3), pooling="avg")
"""

from . import imagenet_utils, inception_v3, mobilenet, resnet, resnet50, seeds, vgg, vgg16, vgg19
from .inception_v3 import InceptionV3
from .mobilenet import MobileNet
from .resnet import ResNet20, ResNet50, ResNet101, ResNet152, resnet_cifar
from .seeds import BUILDERS, RECIPES, Recipe, alexnet, build, geron_cnn, keras_mnist_cnn, lenet5, mlp
from .vgg import VGG16, VGG19

__all__ = [
    "BUILDERS",
    "RECIPES",
    "Recipe",
    "alexnet",
    "build",
    "geron_cnn",
    "keras_mnist_cnn",
    "lenet5",
    "mlp",
    "seeds",
    "VGG16",
    "VGG19",
    "ResNet20",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "resnet_cifar",
    "InceptionV3",
    "MobileNet",
    "imagenet_utils",
    "mobilenet",
    "inception_v3",
    "resnet",
    "resnet50",
    "vgg",
    "vgg16",
    "vgg19",
]
