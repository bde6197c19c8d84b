"""creditplus (信用+): a public credit information platform for a city district."""
